"""What the city learns from the bookings: occupancy, demand and use (issue 19).

`figures` defines every figure once, with its formula; `counts` reads a month's rows into
counts (cached per month, kept true by `versions`); `report` groups them into `tables`,
which the staff pages, the staff API, the downloads and the open data all show.
"""
