r"""Markdown tables, written one way: every table the project writes goes through :func:`markdown_table`.

A table cell may hold a pipe (``|ρ|``, the study's absolute correlation). Unescaped, the pipe
splits the cell: a renderer then shifts the row's cells into the wrong columns (JupyterLab) or
drops the table and shows its text as one paragraph (nbconvert's report pages). Every cell is
escaped here (:func:`escape_cell`: ``|`` -> ``\|``, a line break -> a space), the form GitHub,
JupyterLab and nbconvert's mistune read as a literal pipe. :func:`table_problems` checks a
Markdown text: every row of each of its tables must have as many cells as the table's header.

Examples
--------
>>> import pandas as pd
>>> print(markdown_table(pd.DataFrame({"quantity": ["|ρ|"], "value": ["0.30"]})))
| quantity | value |
|:---|:---|
| \|ρ\| | 0.30 |
>>> table_problems("| a | b |\n|---|---|\n| |ρ| | 1 |\n")
['table 1, line 3: 4 cells, the header has 2']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["escape_cell", "markdown_table", "row_cells", "table_problems"]

# A pipe not preceded by a backslash: a cell boundary.
_CELL_BOUNDARY = re.compile(r"(?<!\\)\|")
# The delimiter row under a table's header: | --- | :---: | ---: |
_DELIMITER_ROW = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def escape_cell(value: object) -> object:
    r"""A cell's value as Markdown reads it literally: pipes escaped, line breaks as spaces; non-strings unchanged.

    >>> escape_cell("|ρ| 0.30-0.36")
    '\\|ρ\\| 0.30-0.36'
    >>> escape_cell(0.5)
    0.5
    """
    if not isinstance(value, str):
        return value
    return re.sub(r"(?<!\\)\|", r"\\|", value).replace("\r\n", " ").replace("\n", " ")


def _cell_text(value: object, floatfmt: str) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return "nan" if np.isnan(value) else format(float(value), floatfmt)
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    return str(escape_cell(str(value)))


_DELIMITERS = {"left": ":---", "right": "---:", "center": ":---:"}


def markdown_table(
    table: pd.DataFrame,
    *,
    floatfmt: str = ".4g",
    index: bool = False,
    align: tuple[str, ...] | None = None,
) -> str:
    r"""``table`` as a Markdown pipe table, every cell and header escaped (:func:`escape_cell`).

    One row per line, cells separated by `` | `` without padding, so that a changed number
    changes one line.

    Parameters
    ----------
    table : DataFrame
    floatfmt : str
        Format of the float cells (``format(value, floatfmt)``); NaN prints as ``nan``, text as written.
    index : bool
        Write the index as the first column.
    align : tuple of str, optional
        ``"left"``, ``"right"`` or ``"center"`` per column; default right for numeric columns,
        left for the others.

    Returns
    -------
    str
        The table without a trailing newline; ``(empty)`` for a table without columns.

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"quantity": ["|ρ|", "n"], "value": [0.30, 12.0]})))
    | quantity | value |
    |:---|---:|
    | \|ρ\| | 0.3 |
    | n | 12 |
    """
    if index:
        table = table.reset_index()
    if not len(table.columns):
        return "(empty)"
    if align is None:
        align = tuple("right" if pd.api.types.is_numeric_dtype(dtype) else "left" for dtype in table.dtypes)
    if len(align) != len(table.columns):
        raise ValueError(f"align has {len(align)} entries for {len(table.columns)} columns")
    lines = [
        "| " + " | ".join(str(escape_cell(str(column))) for column in table.columns) + " |",
        "|" + "|".join(_DELIMITERS[a] for a in align) + "|",
    ]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell_text(value, floatfmt) for value in row) + " |")
    return "\n".join(lines)


def row_cells(line: str) -> list[str]:
    r"""The cells of one row of a pipe table, split at unescaped pipes, outer pipes dropped.

    >>> row_cells("| a | \\|ρ\\| | c |")
    ['a', '\\|ρ\\|', 'c']
    """
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [cell.strip() for cell in _CELL_BOUNDARY.split(text)]


def table_problems(text: str) -> list[str]:
    r"""Rows of the pipe tables in ``text`` whose number of cells differs from their table's header.

    A table is a header row followed by a delimiter row (``|---|---:|``) and the rows up to the
    next line that does not start with ``|``.

    Returns
    -------
    list of str
        One line per faulty row (``table <n>, line <k>: ...``); empty when every row fits.
    """
    lines = text.splitlines()
    problems, number, i = [], 0, 0
    while i < len(lines) - 1:
        header, delimiter = lines[i], lines[i + 1]
        if not (header.lstrip().startswith("|") and _DELIMITER_ROW.match(delimiter.strip())):
            i += 1
            continue
        number += 1
        width = len(row_cells(header))
        if len(row_cells(delimiter)) != width:
            problems.append(f"table {number}, line {i + 2}: {len(row_cells(delimiter))} cells, the header has {width}")
        i += 2
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            cells = len(row_cells(lines[i]))
            if cells != width:
                problems.append(f"table {number}, line {i + 1}: {cells} cells, the header has {width}")
            i += 1
    return problems
