package main

import (
	"log"
	"log/slog"
)

// slogErrorLog routes net/http's own error messages (TLS handshake errors,
// malformed requests) into the structured log at Warn.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.With("component", "http").Handler(), slog.LevelWarn)
}
