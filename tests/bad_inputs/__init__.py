"""The judged corpus of bad inputs (issue 13): hostile files are made at test time."""
