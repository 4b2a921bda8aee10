// The chat's browser client: it sends and likes messages through the command API and keeps
// the list current. Whenever the messages view changes, the server announces it with the
// notification viewMessagesUpdated, and the client reads the view again. Streams are NDJSON:
// one JSON document per line, with {"name":"heartbeat"} lines to keep them open.
'use strict';

const messagesUrl = '/views/v2/messages/stream/all';
const messageCommands = '/command/v2/communication/message';

const list = document.getElementById('messages');
const form = document.getElementById('send-form');
const input = document.getElementById('text');
const statusLine = document.getElementById('status');

// Calls `onItem` for every JSON line of an NDJSON stream as it arrives, until it ends.
async function readNdjson(response, onItem) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      if (line.trim() !== '') {
        onItem(JSON.parse(line));
      }
    }
  }
}

async function issueCommand(path, data) {
  const response = await fetch(`${messageCommands}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data)
  });
  if (!response.ok) {
    const error = await response.json();
    throw new Error(error.message);
  }
}

function render(messages) {
  list.replaceChildren(...messages.map(message => {
    const item = document.createElement('li');
    item.className = 'message';
    item.dataset.id = message.id;

    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = message.text;

    const like = document.createElement('button');
    like.className = 'like';
    like.type = 'button';
    like.title = 'Like';
    like.append('♥ ');
    const likes = document.createElement('span');
    likes.className = 'likes';
    likes.textContent = String(message.likes);
    like.append(likes);
    like.addEventListener('click', () => {
      issueCommand(`${message.id}/like`, {}).catch(showError);
    });

    item.append(text, like);
    return item;
  }));
}

// Reads the view again; a newer refresh makes an older one's result obsolete. A query's
// stream ends after its last item, so it is read whole and then split into its lines.
let refreshes = 0;
async function refresh() {
  const number = ++refreshes;
  const response = await fetch(messagesUrl, { cache: 'no-store' });
  const body = await response.text();
  const messages = body.split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line));
  if (number === refreshes) {
    render(messages);
  }
}

// Listens for notifications and reconnects when the stream ends or fails.
async function listen() {
  for (;;) {
    try {
      const response = await fetch('/notifications/v2');
      statusLine.textContent = 'Live.';
      // Whatever changed while we were away is read now.
      refresh().catch(showError);
      await readNdjson(response, notification => {
        if (notification.name === 'viewMessagesUpdated') {
          refresh().catch(showError);
        }
      });
    } catch (error) {
      showError(error);
    }
    statusLine.textContent = 'Reconnecting…';
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

function showError(error) {
  statusLine.textContent = `Something went wrong: ${error.message}`;
}

form.addEventListener('submit', event => {
  event.preventDefault();
  const text = input.value.trim();
  if (text === '') {
    return;
  }
  issueCommand('send', { text }).then(() => {
    input.value = '';
  }, showError);
});

listen();
