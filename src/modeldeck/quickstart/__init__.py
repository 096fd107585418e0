"""The quickstart use case: predicting customer churn.

`data` generates a seeded, realistic churn table (with a drift scenario for monitoring);
`story` trains and tracks a few scikit-learn candidates on it and tells the user what to run
next. Nothing heavy is imported here, so the CLI can import `modeldeck.quickstart.story`
cheaply.
"""
