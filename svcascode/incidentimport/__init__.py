"""`svcascode import incidents`: Incident documents from a ticket export (ServiceNow, Jira Service
Management, PagerDuty, or any CSV through a mapping file)."""
