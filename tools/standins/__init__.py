"""Local stand-ins for the Vonage services this app talks to, on loopback, for the tests, `make demo` and `make bench`.

voice_api        the Voice API: calls, streams, talk and hang-ups, with failures and rate limits on demand
application_api  the Application API v2: creates an application with a key pair made at run time
numbers_api      the Numbers API: lists the account's numbers and links one to an application
ngrok_agent      the ngrok agent's local API: the tunnels and their public URLs
https_server     the HTTPS server with keep-alive they run on, and the account APIs' basic auth
vonage_calls     Vonage's part of each call around the Voice API: fetches the NCCO, rings, posts events
webhook_events   call events as Vonage posts them to the app, signed or not
ncco-schema.json Vonage's NCCO schema, which vonage_calls and the tests check the answer NCCO against
"""
