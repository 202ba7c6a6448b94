"""Self-matching: shortlists and their emails, the form exports (choices, answers, rankings), requests."""
