"""Calls in processes: the results in the order of the calls, whatever the processes, with or without a bar."""

import operator

from radlib.parallel import run_calls


def test_results_come_in_the_order_of_the_calls_in_one_or_two_processes(capsys):
    arguments = [(i, 3) for i in range(7)]
    expected = [i**3 for i in range(7)]
    assert run_calls(operator.pow, arguments) == expected
    assert run_calls(operator.pow, arguments, n_jobs=2, progress="cubes") == expected
    assert "cubes: 100%" in capsys.readouterr().err  # outside a notebook the bar is text on stderr
