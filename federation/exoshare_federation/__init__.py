"""exoshare's federated training: a linear gait-speed model, its Flower ClientApp and ServerApp."""
