"""The scheduler service (APScheduler 3 only here): one tick job picks what is due; digests on cron
triggers; housekeeping. A memory job store rebuilt at every start; jobs take plain values and call
services. See service.py for the lifecycle and jobs.py for what each job does."""

from tracker.scheduling.service import ServeOptions, Service, serve

__all__ = ["ServeOptions", "Service", "serve"]
