"""The sales dashboard: product views, daily roll-ups, figures, charts and exports.

``facts`` says what each figure counts and reads it from the source tables;
``rollups`` keeps closed days of those facts in ``DailyStats``/``DailySource``;
``selectors`` adds the live part and builds what the pages show.
"""
