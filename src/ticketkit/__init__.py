"""ticketkit: an embeddable issue tracking and help-desk ticketing library."""
