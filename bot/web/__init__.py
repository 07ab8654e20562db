"""The bot's one web application (webhooks, health, and later the staff console); see bot/web/app.py."""
