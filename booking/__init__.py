"""booking: public-facility reservation for a city's network of civic facilities."""
