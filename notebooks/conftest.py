"""nbval runs the notebooks (`make test`, smoke profile); a cell also fails on what a clean run may not show.

nbval itself fails a cell that raises. Here a cell fails as well when its outputs hold text on stderr
(a warning, a log message, a progress bar without its widget) or a stray expression result such as
``PosixPath(...)`` (:func:`radlib.notebook_files.output_problems`), so the notebooks read cleanly in Lab and in
the report.
"""

import pytest
from nbval.plugin import IPyNbCell, NbCellError

from radlib.notebook_files import output_problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if isinstance(item, IPyNbCell):
        problems = output_problems(item.test_outputs or [])
        if problems:
            raise NbCellError(
                item.cell_num, "the cell's outputs are not clean: " + "; ".join(problems), item.cell.source
            )
    return result
