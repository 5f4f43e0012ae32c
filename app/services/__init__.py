"""Services shared by the HTTP edge and the workers: session first, keyword arguments after."""
