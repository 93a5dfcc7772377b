"""Device telemetry: wire protocol, ingestion (MQTT, WebSocket, upload, files), store, sessions."""
