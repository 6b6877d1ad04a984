"""The schedule: takes the settings, runs ingest, draft and send jobs at their times.

`expressions` reads the forms editors write ('weekly mon 08:00', cron); `scheduler` is the
`digest schedule run` process; `jobs` are what it runs, each under a lease so one machine
runs it; `notices` tell editors a draft is ready or late. It sits above `digest.pipeline`.
"""
