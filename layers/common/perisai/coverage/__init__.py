"""Coverage and agent figures: the aggregator that keeps counters from domain events, and the
coverage report read from them."""
