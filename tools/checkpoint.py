"""Keep a long grid's finished tasks across working sessions: save them to a committable folder, restore them.

    python tools/checkpoint.py save --profile full       # -> results/full/checkpoint/
    python tools/checkpoint.py restore --profile full    # before resuming `radlib run --profile full`

(radlib.grid.save_checkpoint, radlib.grid.restore_checkpoint.)
"""

from __future__ import annotations

import argparse

from radlib.config import load_config
from radlib.grid import restore_checkpoint, save_checkpoint


def main() -> None:
    """Save or restore the checkpoint of a profile's grid."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "restore"))
    parser.add_argument("--profile", default="full")
    args = parser.parse_args()
    config = load_config(args.profile)
    folder = config.path("tables") / "checkpoint"
    if args.action == "save":
        for path in save_checkpoint(config, folder):
            print(path.relative_to(config.root))
    else:
        print(f"{restore_checkpoint(config, folder)} task files restored from {folder.relative_to(config.root)}")


if __name__ == "__main__":
    main()
