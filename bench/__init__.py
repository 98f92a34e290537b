"""`make bench`: speed and cost of the helpline, measured side by side.

engine  understanding and rendering a reply (`Helpline.respond`), one core, one process
load    the real app under `helpline serve` against a bare Flask app, driven by wrk
cost    characters, encoding and SMS segments of every reply, default and gsm7
run     all of it, median of several runs, into instance/bench/ (bench/ with --record)
"""


from pathlib import Path as _Path

HERE = _Path(__file__).resolve().parent


def output_path(record: bool) -> _Path:
    """bench/results.json only when recording (`make bench RECORD=1`); otherwise under
    instance/, which git ignores, so a run does not dirty the checkout."""
    return (HERE if record else HERE.parent / "instance" / "bench") / "results.json"
