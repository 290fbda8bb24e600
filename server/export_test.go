package server

// Routes returns every pattern registered on s's mux, for the OpenAPI test.
func Routes(s *Server) []string { return append([]string(nil), s.mux.patterns...) }
