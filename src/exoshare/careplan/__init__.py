"""Care plan: versioned treatment plans, SOAP notes, the exercise library, home programmes."""
