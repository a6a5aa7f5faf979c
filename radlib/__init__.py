"""radlib: the helper package of the synthetic-radiomics research compendium.

One module per stage: :mod:`radlib.config` (profiles, paths, seeds), :mod:`radlib.data`
(radMLBench ingestion and cleaning), :mod:`radlib.generators` (synthetic-data models),
and the later stages of docs/protocol.md.
"""

__version__ = "0.1.0"
