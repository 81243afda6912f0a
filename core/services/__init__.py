"""The services the dashboard reaches core through, one job each.

- :mod:`core.services.live`: classify, explain and probe typed texts (:class:`LiveService`);
- :mod:`core.services.analyses`: the analysed tables and their queries, calibration, robustness and
  compare (:class:`AnalysesService`);
- :mod:`core.services.reviews`: the review queue, decisions, access, sync and exports
  (:class:`ReviewService`, the one place that authorises a write), with :mod:`core.services.corrections`
  for the corrected data folder and the retrain command;
- :mod:`core.services.emotion`: :class:`EmotionService`, which loads the models and analyses and
  composes the three.
"""
