"""The blind label audit: draw rows of a split, judge each one seeing only its text and given label,
and estimate from the judgements how many labels are wrong and how well each ranking signal finds them.

- :mod:`core.audit.design`: the strata of a ranking score, the blind draw (uniform or stratified toward
  the top), and how a judgement is stored as a review decision.
- :mod:`core.audit.estimate`: the post-stratified share of wrong, ambiguous and non-emotion labels with
  95% intervals, precision among a signal's top k%, ROC AUC and average precision.
- :mod:`core.audit.report`: the report of one audited split (``python -m core.audit``).

Audit decisions are review decisions (:class:`core.review.store.ReviewStore`): the same store, sync and
access rules; each names its sampling and stratum in ``audit`` and carries its weight.
"""
