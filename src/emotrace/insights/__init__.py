"""What people read from predictions beyond a label per turn: per-speaker summaries of one conversation and the
figures of many. Pure functions of `Conversation`s and `Prediction`s, with no I/O, so the writers, the HTML report,
`emotrace summarize` and the server all say the same thing."""
