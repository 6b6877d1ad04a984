"""Stories: takes stored articles and a newsletter's settings, gives ranked, summarised stories.

`select` picks the candidates (tags, window, not yet sent), `grouping` joins articles that
tell the same story (comparing the vectors `vectors` makes of them), `summarize` writes the
extractive summary from digest.core.sentences (`abstractive` optionally asks a model), and
`assemble.make_stories` puts the steps together. Pure functions.
"""
