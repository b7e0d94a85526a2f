"""The bottom of the pipeline: diagnostics, reporting, versions, endpoints and the plain data model.

Nothing in here imports any other part of meshcharts, so every stage may import it.
"""
