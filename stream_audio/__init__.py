"""Stream audio into a phone call: the parts behind app.py, one module per role.

settings        every setting, read and checked once at start-up, every problem named together
audio           what the stream plays: a checked, measured file in public/, or a URL
public_url      where Vonage reaches this app: BASE_URL, or the ngrok tunnel to PORT
ngrok_tunnels   the ngrok agent's answer, read within bounds, and the one tunnel in it believed
access          who may place calls and act on them: the call token, this app's own pages, the person's ask
answer_headers  what every answer tells the browser: no framing, no caching, no sniffing, no referrer
app_parts       what create_app builds once and every route shares
vonage_routes   what Vonage asks: the answer NCCO, the audio files, the event webhook
ncco            the answer NCCO: the greeting, then silence that holds the line
events          what an event webhook body says, if it is shaped as Vonage's are
signatures      whether an event is Vonage's own: signed for this body, recently, only once
person_routes   what a person uses: /, /call and each call's page with its buttons
call_view       what a call's page shows: its state in words, its controls, its steps
call_flow       CallFlow: what happens to each call as events, deadlines and buttons arrive
call            one call's state, and every decision that follows from it alone
call_table      the calls being handled, and how many count toward MAX_ACTIVE_CALLS
call_placing    POST /v1/calls within the account's limit on new calls
voice_requests  each Voice API request: sent, timed, logged, explained in plain words
voice_api       the SDK's Voice client for this app, and its failures in plain words
pacer           every request paced to the account's limits, hang-ups first
deadlines       one thread that runs each hang-up and retry at its own time
history         the steps of the last calls, for their pages
refused         the one refusal: what was asked cannot be done now, and why
log_text        outside text made safe for one log line
server          waitress, with limits that shed slow and malformed clients
account_setup   `python app.py setup`: the Vonage side, from the API key and secret, done whole or not at all
account_apis    the Application and Numbers APIs as setup asks them, every answer checked
application_key the new application's private key: checked to sign for it, then saved for its owner alone
dotenv_file     .env as setup fills it in, and puts it back if a later step fails
setup_words     what setup tells the user: the summary, the numbers to choose from, the pages to visit
"""
