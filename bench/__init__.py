"""`make bench`: speed and cost of the helpline, measured side by side.

engine  understanding and rendering a reply (`Helpline.respond`), one core, one process
load    the real app under `helpline serve` against a bare Flask app, driven by wrk
cost    characters, encoding and SMS segments of every reply, default and gsm7
run     all of it, median of several runs, into bench/results.md and results.json
"""
