"""Stream audio into a phone call: the parts behind app.py, one question each.

settings    what the user set, read and checked once at start-up
voice_api   the Vonage SDK's Voice client: one reused token, failures in plain words
calls       each call's state, and what the app sends when an event arrives
deadlines   one thread that runs each call's hang-up at its own time
webhooks    whether an event body is Vonage's: its shape and its signature
server      serving the app on this machine
"""
