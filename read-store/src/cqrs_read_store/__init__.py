"""The read models as they are stored, owned here and nowhere else: the Beanie document of
each read model (collection, indexes, codec), the compare-and-set writer the projector
writes through (its only writer), the reader the query-service reads through, and the
change announcement that drops cached copies and tells every query replica."""
