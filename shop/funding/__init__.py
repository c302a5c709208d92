"""Fan-funded releases: all-or-nothing campaigns whose pledges are cards saved now, charged
at the deadline only when the goal is met, and granted the record on its release."""
