"""File → validated model → plan. Pure: knows no chain.

``source`` reads YAML with a line map, ``model`` is the scenario's pydantic model, ``validate`` reports every
problem as ``file:line: field: reason``, ``paths`` generates price paths, ``plan`` makes the scenario concrete.
"""
