"""Local stand-ins for the Vonage services this app talks to, on loopback, for the tests, `make demo` and `make bench`.

voice_api          the Voice API: calls, streams, talk and hang-ups, with failures and rate limits on demand
voice_api_schemas  the Voice API's request bodies and error answers, from its reference
known_calls        the calls the Voice API knows, each as GET /v1/calls/{uuid} tells it, to its final status
trouble_on_demand  the failures tests ask of the Voice API, and an account's rate limits
application_api    the Application API v2: creates an application with a key pair made at run time
numbers_api        the Numbers API: lists the account's numbers and links one to an application
ngrok_agent        the ngrok agent's local API: the tunnels and their public URLs
https_server       the HTTPS server with keep-alive they run on, and the account APIs' basic auth
vonage_calls       Vonage's part of each call around the Voice API: rings, fetches the NCCO, posts events
vonage_fetches     what Vonage fetches from the app, checked: the answer NCCO and every audio file
webhook_events     call events as Vonage posts them to the app, signed or not
timeline           a call's life as `make demo` prints it, and the problems found
ncco-schema.json   Vonage's NCCO schema, which vonage_fetches and the tests check the answer NCCO against
"""
