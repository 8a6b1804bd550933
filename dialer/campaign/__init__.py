"""Campaigns: state tables, pure policy decisions, schedules and calling-hours compliance."""
