// The ergon-rx dashboard page: plain browser JavaScript, no build step. It listens to the
// server-sent events of /api/events (a `status` each second with its newest chart point, a
// `failure` as each happens) and draws with uPlot, served from the installed package.
// Everything the server sends is written with textContent: error messages are never HTML.
/* global uPlot, EventSource, document, window */
'use strict';

(function () {
  const statuses = ['success', 'exception', 'failed', 'timeout', 'released'];
  const colors = {
    success: '#3fb950',
    exception: '#58a6ff',
    failed: '#f85149',
    timeout: '#d29922',
    released: '#a371f7',
  };
  const byId = (id) => document.getElementById(id);
  const setText = (id, value) => {
    const element = byId(id);
    if (element !== null) element.textContent = String(value);
  };
  const number = (value) =>
    value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US');
  const ms = (value) => (value === null || value === undefined ? '–' : `${value} ms`);
  const clock = (epoch) => new Date(epoch).toLocaleTimeString();

  /** Chart points, as uPlot wants them: x (seconds) then one array per series. */
  const points = { at: [], rates: statuses.map(() => []), latency: [[], [], []], flight: [[], []] };
  let windowSize = 600;

  function axes() {
    const axis = { stroke: '#8b98a8', grid: { stroke: '#263240' }, ticks: { stroke: '#263240' } };
    return [axis, axis];
  }

  function chart(target, series) {
    const element = byId(target);
    const options = {
      width: Math.max(300, element.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      axes: axes(),
      legend: { live: false },
      series: [{}, ...series],
    };
    const data = [[], ...series.map(() => [])];
    return new uPlot(options, data, element);
  }

  const charts = {
    rates: chart(
      'chart-rates',
      statuses.map((status) => ({ label: status, stroke: colors[status], width: 2 })),
    ),
    latency: chart('chart-latency', [
      { label: 'p50', stroke: '#3fb950', width: 2 },
      { label: 'p90', stroke: '#d29922', width: 2 },
      { label: 'p99', stroke: '#f85149', width: 2 },
    ]),
    flight: chart('chart-flight', [
      { label: 'in flight', stroke: '#58a6ff', width: 2, fill: 'rgba(88,166,255,0.15)' },
      { label: 'limit', stroke: '#8b98a8', width: 2, dash: [6, 4] },
    ]),
  };

  window.addEventListener('resize', () => {
    for (const name of Object.keys(charts)) {
      const element = charts[name].root.parentElement;
      charts[name].setSize({ width: Math.max(300, element.clientWidth), height: 220 });
    }
  });

  function addPoint(sample) {
    const x = sample.at / 1000;
    if (points.at.length > 0 && x <= points.at[points.at.length - 1]) return;
    points.at.push(x);
    statuses.forEach((status, i) => points.rates[i].push(sample.rates[status]));
    points.latency[0].push(sample.p50);
    points.latency[1].push(sample.p90);
    points.latency[2].push(sample.p99);
    points.flight[0].push(sample.inFlight);
    points.flight[1].push(sample.limit);
    const excess = points.at.length - windowSize;
    if (excess > 0) {
      points.at.splice(0, excess);
      for (const list of [...points.rates, ...points.latency, ...points.flight]) {
        list.splice(0, excess);
      }
    }
  }

  function redraw() {
    charts.rates.setData([points.at, ...points.rates]);
    charts.latency.setData([points.at, ...points.latency]);
    charts.flight.setData([points.at, ...points.flight]);
  }

  function badge(id, ok, text) {
    const element = byId(id);
    element.textContent = text;
    element.className = `badge ${ok ? 'ok' : 'bad'}`;
  }

  function row(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) {
      const td = document.createElement('td');
      if (cell instanceof window.Node) td.appendChild(cell);
      else if (cell !== null && typeof cell === 'object') {
        td.textContent = cell.text;
        if (cell.className) td.className = cell.className;
      } else td.textContent = cell === null || cell === undefined ? '–' : String(cell);
      tr.appendChild(td);
    }
    return tr;
  }

  function fill(target, rows, empty, columns) {
    const body = typeof target === 'string' ? byId(target) : target;
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = columns;
      td.className = 'empty';
      td.textContent = empty;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  function showStatus(status) {
    setText('task', status.task);
    const phase = byId('phase');
    phase.textContent = status.phase;
    phase.className = `badge ${status.phase === 'running' ? 'ok' : ''}`;
    badge('alive', status.health.alive, status.health.alive ? 'healthz ok' : 'healthz failing');
    badge('ready', status.health.ready, status.health.ready ? 'readyz ok' : 'readyz not ready');
    setText('rate', Math.round(status.ratePerSecond * 10) / 10);
    for (const name of statuses) setText(`total-${name}`, number(status.totals[name]));
    setText('p50', ms(status.latency.p50));
    setText('p90', ms(status.latency.p90));
    setText('p99', ms(status.latency.p99));
    setText('in-flight', number(status.inFlight));
    setText('limit', number(status.limit));
    setText(
      'breaker',
      status.breaker === null
        ? 'no change'
        : status.breaker === 'halfOpen'
          ? 'half-open'
          : status.breaker,
    );
    setText('pauses', number(status.rateLimitPauses));
    const notice = byId('notice');
    notice.hidden = status.metrics;
    notice.textContent = status.metrics
      ? ''
      : 'No metrics reach the dashboard: the application registered its own OpenTelemetry SDK.';
    fill(
      'connectors',
      status.connectors.map((connector) =>
        row([
          connector.name,
          connector.depthError === undefined
            ? number(connector.depth)
            : { text: `count() failed: ${connector.depthError}`, className: 'error' },
          connector.healthy === null
            ? '–'
            : `${connector.healthy ? 'healthy' : 'unhealthy'} (${connector.state}${connector.detail ? `: ${connector.detail}` : ''})`,
        ]),
      ),
      'no connectors',
      3,
    );
    fill(
      'problems',
      status.health.problems.map((problem) =>
        row([problem.kind, { text: problem.detail, className: 'error' }, clock(problem.since)]),
      ),
      'no problems',
      3,
    );
    const workersTable = byId('workers-table');
    workersTable.hidden = status.workers === null;
    if (status.workers !== null) {
      fill(
        'workers',
        status.workers.map((worker) =>
          row([
            worker.workerId,
            worker.pid,
            worker.state,
            worker.inFlight,
            worker.restarts,
            connectorHealthCell(worker.connectors),
          ]),
        ),
        'no workers',
        6,
      );
    }
  }

  /** A worker's connectors as its heartbeat reported them: the unhealthy ones stand out. */
  function connectorHealthCell(connectors) {
    if (connectors.length === 0) return '–';
    const unhealthy = connectors.filter((connector) => !connector.healthy);
    if (unhealthy.length === 0) return { text: 'all healthy', className: '' };
    return {
      text: unhealthy
        .map(
          (connector) =>
            `${connector.name}: ${connector.state}${connector.detail ? ` (${connector.detail})` : ''}`,
        )
        .join('; '),
      className: 'error',
    };
  }

  function failureRow(failure) {
    let trace = '–';
    if (failure.traceId !== null) {
      if (failure.traceUrl !== null) {
        const link = document.createElement('a');
        link.href = failure.traceUrl;
        link.target = '_blank';
        link.rel = 'noopener';
        link.textContent = failure.traceId;
        trace = link;
      } else {
        trace = { text: failure.traceId, className: 'trace' };
      }
    }
    // Actions the server offers for this failure (a dead-letter redrive, once there is one).
    const actions = document.createElement('span');
    for (const action of failure.actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = action;
      button.disabled = true;
      actions.appendChild(button);
    }
    const tr = row([
      clock(failure.at),
      failure.transactionId,
      {
        text: failure.deadLettered ? `${failure.status} (dead-lettered)` : failure.status,
        className: `status-${failure.status}`,
      },
      failure.stage,
      { text: failure.error, className: 'error' },
      trace,
      actions,
    ]);
    tr.dataset.transactionId = failure.transactionId;
    return tr;
  }

  let failures = [];
  function showFailures() {
    fill('failures', failures.map(failureRow), 'no failures', 7);
  }

  // Dead letters: listed from /api/dead-letters (every 5 s, after each dead-lettered failure
  // and after each action); redrive and purge are POSTs with a JSON body, which is what the
  // server's guard asks of a request from this page.
  const deadLetters = byId('dead-letters');
  const selected = new Map(); // connector name → Set of ids
  let listing = false;
  let listAgain = false;

  function deadLetterMessage(text, bad) {
    const element = byId('dead-letters-message');
    element.textContent = text;
    element.className = bad ? 'sub error' : 'sub';
  }

  async function act(action, connector, ids) {
    if (
      action === 'purge' &&
      !window.confirm(
        `Purge ${ids.length} dead letter(s) of ${connector} for good?\n${ids.join('\n')}`,
      )
    ) {
      return;
    }
    try {
      const response = await window.fetch(`api/dead-letters/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ connector, ids }),
      });
      const report = await response.json();
      if (!response.ok) {
        deadLetterMessage(`${action} failed: ${report.error}`, true);
      } else if (action === 'redrive') {
        const skipped = report.skipped.length === 0 ? '' : `, skipped ${report.skipped.join(', ')}`;
        deadLetterMessage(`redrove ${report.redriven.length} of ${connector}${skipped}`, false);
      } else {
        deadLetterMessage(`purged ${report.purged.length} of ${connector}`, false);
      }
    } catch (error) {
      deadLetterMessage(`${action} failed: ${error}`, true);
    }
    selected.get(connector)?.clear();
    void listDeadLetters();
  }

  function actionButton(label, action, connector, ids) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.dataset.action = action;
    button.addEventListener('click', () => {
      const chosen = ids();
      if (chosen.length > 0) void act(action, connector, chosen);
    });
    return button;
  }

  function connectorPanel(entry, actions) {
    const panel = document.createElement('div');
    panel.className = 'dead-letter-connector';
    panel.dataset.connector = entry.name;
    const title = document.createElement('h3');
    title.textContent = `${entry.name}${entry.available ? ` — ${entry.letters.length}${entry.more ? '+' : ''}` : ''}`;
    panel.appendChild(title);
    if (!entry.available) {
      const note = document.createElement('p');
      note.className = 'sub unavailable';
      note.textContent = `not available: ${entry.reason}`;
      panel.appendChild(note);
      return panel;
    }
    if (entry.error !== undefined) {
      const note = document.createElement('p');
      note.className = 'sub error';
      note.textContent = `could not list them: ${entry.error}`;
      panel.appendChild(note);
    }
    const chosen = selected.get(entry.name) ?? new Set();
    selected.set(entry.name, chosen);
    const present = new Set(entry.letters.map((letter) => letter.id));
    for (const id of [...chosen]) if (!present.has(id)) chosen.delete(id);
    if (actions) {
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.append(
        actionButton('redrive selected', 'redrive', entry.name, () => [...chosen]),
        actionButton('purge selected', 'purge', entry.name, () => [...chosen]),
      );
      panel.appendChild(bar);
    }
    const table = document.createElement('table');
    table.className = 'dead-letters';
    const head = document.createElement('thead');
    head.appendChild(
      row(['', 'transaction', 'error', 'stage', 'dead-lettered', 'deliveries', 'actions']),
    );
    const body = document.createElement('tbody');
    table.append(head, body);
    fill(
      body,
      entry.letters.map((letter) => {
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = chosen.has(letter.id);
        box.title = 'select';
        box.addEventListener('change', () =>
          box.checked ? chosen.add(letter.id) : chosen.delete(letter.id),
        );
        const buttons = document.createElement('span');
        if (actions) {
          buttons.append(
            actionButton('redrive', 'redrive', entry.name, () => [letter.id]),
            actionButton('purge', 'purge', entry.name, () => [letter.id]),
          );
        }
        const tr = row([
          box,
          letter.id,
          { text: letter.error, className: 'error' },
          letter.stage,
          clock(letter.deadLetteredAt),
          letter.deliveryCount,
          buttons,
        ]);
        tr.dataset.transactionId = letter.id;
        return tr;
      }),
      'no dead letters',
      7,
    );
    const scroll = document.createElement('div');
    scroll.className = 'scroll';
    scroll.appendChild(table);
    panel.appendChild(scroll);
    return panel;
  }

  async function listDeadLetters() {
    if (listing) {
      listAgain = true;
      return;
    }
    listing = true;
    try {
      const response = await window.fetch('api/dead-letters');
      const body = await response.json();
      if (!response.ok) throw new Error(body.error);
      deadLetters.replaceChildren(
        ...(body.connectors.length === 0
          ? [
              Object.assign(document.createElement('p'), {
                className: 'sub',
                textContent: 'no connectors',
              }),
            ]
          : body.connectors.map((entry) => connectorPanel(entry, body.actions))),
      );
    } catch (error) {
      deadLetterMessage(`could not list the dead letters: ${error}`, true);
    } finally {
      listing = false;
      if (listAgain) {
        listAgain = false;
        void listDeadLetters();
      }
    }
  }
  let listSoon = undefined;
  /** Lists again within a second (failures may come by the dozen). */
  function scheduleList() {
    listSoon ??= window.setTimeout(() => {
      listSoon = undefined;
      void listDeadLetters();
    }, 1000);
  }
  void listDeadLetters();
  window.setInterval(() => {
    if (!document.hidden) void listDeadLetters();
  }, 5000);

  const source = new EventSource('api/events');
  source.addEventListener('open', () => badge('stream', true, 'live'));
  source.addEventListener('error', () => badge('stream', false, 'reconnecting'));
  source.addEventListener('status', (event) => {
    const status = JSON.parse(event.data);
    if (status.series.length > 1) {
      windowSize = Math.max(windowSize, status.series.length);
    }
    for (const sample of status.series) addPoint(sample);
    redraw();
    showStatus(status);
  });
  source.addEventListener('failures', (event) => {
    failures = JSON.parse(event.data).failures;
    showFailures();
  });
  source.addEventListener('failure', (event) => {
    const failure = JSON.parse(event.data);
    failures = [failure, ...failures].slice(0, 200);
    showFailures();
    if (failure.deadLettered) scheduleList();
  });
})();
