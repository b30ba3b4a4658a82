"""Printouts of Labels, LabelsEntry, TensorBlock and TensorMap, byte-identical to
upstream's: data/printouts/printouts.txt is upstream's compatibility script as a
doctest, expecting the output upstream printed (printouts-upstream.txt)"""

import doctest
import os

PRINTOUTS = os.path.join(os.path.dirname(__file__), "data", "printouts")


def printouts_doctest() -> doctest.DocTest:
    path = os.path.join(PRINTOUTS, "printouts.txt")
    with open(path) as fd:
        text = fd.read()
    return doctest.DocTestParser().get_doctest(text, {}, "printouts.txt", path, 0)


def test_expected_outputs_are_upstream_output():
    wants = "".join(example.want for example in printouts_doctest().examples)
    with open(os.path.join(PRINTOUTS, "printouts-upstream.txt")) as fd:
        assert wants.replace("<BLANKLINE>", "") == fd.read()


def test_printouts():
    test = printouts_doctest()
    report = []
    runner = doctest.DocTestRunner(optionflags=0)
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    assert runner.tries == len(test.examples)
