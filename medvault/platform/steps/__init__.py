"""The steps of a partition run, one module each, composing the domains over a `StepContext`."""
