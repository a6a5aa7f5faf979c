"""Markdown tables: escaped cells, one cell count per row, and every table the project committed."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from radlib.markdown import escape_cell, markdown_table, row_cells, table_problems

ROOT = Path(__file__).resolve().parents[1]
# Every Markdown file the project generates and commits, and the README that embeds summary.md.
COMMITTED_MARKDOWN = sorted((ROOT / "results").glob("*/*.md")) + [ROOT / "README.md"]


def test_a_pipe_in_a_cell_is_escaped_and_line_breaks_become_spaces():
    assert escape_cell("|ρ| 0.30") == r"\|ρ\| 0.30"
    assert escape_cell("one\ntwo") == "one two"
    assert escape_cell(r"already \| escaped") == r"already \| escaped"
    assert escape_cell(3) == 3


def test_every_row_of_a_table_with_pipes_in_its_cells_has_the_header_s_cells():
    table = pd.DataFrame({"quantity": ["|ρ|", "a | b", "plain"], "study": ["0.30-0.36", "x", "|y|"]})
    text = markdown_table(table)
    lines = text.splitlines()
    assert [len(row_cells(line)) for line in lines] == [2, 2, 2, 2, 2]
    assert table_problems(text) == []
    assert row_cells(lines[2]) == [r"\|ρ\|", "0.30-0.36"]


def test_a_renderer_reads_the_escaped_pipes_as_text_in_their_own_column():
    html = markdown2html_mistune(markdown_table(pd.DataFrame({"quantity": ["|ρ|"], "study": ["0.30"]})))
    assert "<table>" in html
    cells = [part.rsplit(">", 1)[1] for part in html.split("</td>")[:-1]]
    assert cells == ["|ρ|", "0.30"]


def test_floats_take_the_format_and_numeric_columns_align_right():
    table = pd.DataFrame({"name": ["a", "b"], "value": [1 / 3, np.nan], "n": [1, 2]})
    lines = markdown_table(table, floatfmt=".3f").splitlines()
    assert lines[1] == "|:---|---:|---:|"
    assert lines[2:] == ["| a | 0.333 | 1 |", "| b | nan | 2 |"]


def test_a_table_without_columns_is_empty_and_a_wrong_alignment_raises():
    assert markdown_table(pd.DataFrame()) == "(empty)"
    with pytest.raises(ValueError, match="align has 1 entries for 2 columns"):
        markdown_table(pd.DataFrame({"a": [1], "b": [2]}), align=("left",))


def test_an_unescaped_pipe_is_found_in_the_row_it_shifts():
    text = "intro\n\n| a | b |\n|---|---:|\n| |ρ| 0.3 | x |\n| ok | 1 |\n\n| c |\n|---|\n| d | e |\n"
    assert table_problems(text) == [
        "table 1, line 5: 4 cells, the header has 2",
        "table 2, line 10: 2 cells, the header has 1",
    ]


@pytest.mark.parametrize("path", COMMITTED_MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_table_has_the_same_number_of_cells_in_every_row(path):
    assert table_problems(path.read_text()) == []
