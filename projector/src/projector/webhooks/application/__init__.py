"""Which handlers an event goes to, the request each gets, delivery with retries."""
