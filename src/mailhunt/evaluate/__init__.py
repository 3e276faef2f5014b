"""``mailhunt evaluate``: generate the test bed, run the whole pipeline on it, score the alerts
against the ground truth (see :mod:`mailhunt.evaluate.testbed` and :mod:`.score`)."""

from mailhunt.evaluate.run import Evaluation, evaluate
from mailhunt.evaluate.score import KindScore, Score

__all__ = ["Evaluation", "KindScore", "Score", "evaluate"]
