"""Forms of the staff UI, by concept: the case's details (details.py), the
stage actions (stages.py) and the records added beside the stages
(records.py). Each action form turns its cleaned data into the keyword
arguments of one service (``service_kwargs``)."""
