# The dashboard's assets embedded into ds01d (stub; issue 8).
