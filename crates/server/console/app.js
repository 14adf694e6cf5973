// The console's entry point: finds out whether the browser is signed in (the HttpOnly cookie decides,
// GET /console/api/session), shows the sign-in page or the shell, and routes the URL hash to one view
// module. A view is `render(ctx)` and may return a function that stops its timers and destroys its
// charts when the user leaves.
//
// Each render gets an element of its own (`ctx.root`), put in the page in place of the last one, and
// `ctx.isCurrent()`, false as soon as the user has gone elsewhere (another page, or signed out). A view
// checks it after every await and stops there; whatever a stale render still writes lands in its own
// element, which is no longer in the page.

import { call, callAll, currentSession, onSignedOut, signOut, whoAmI } from './api.js';
import { h, mount } from './dom.js';
import { go, href, parseHash } from './routes.js';
import { renderSignIn } from './views/signin.js';
import { errorBox } from './widgets/messages.js';

const VIEWS = {
  overview: { title: 'Overview', load: () => import('./views/overview.js'), nav: true },
  sessions: { title: 'Sessions', load: () => import('./views/sessions.js'), nav: true },
  live: { title: 'Live', load: () => import('./views/live.js'), nav: true },
  devices: { title: 'Devices', load: () => import('./views/devices.js'), nav: true },
  policies: { title: 'Policies', load: () => import('./views/policies.js'), nav: true },
  projects: { title: 'Projects', load: () => import('./views/projects.js'), nav: true, global: true },
  session: { title: 'Session', load: () => import('./views/session.js') },
  device: { title: 'Device', load: () => import('./views/device.js') },
};

const view = document.getElementById('view');
const topbar = document.getElementById('topbar');
const projectSelect = document.getElementById('project-select');
let projects = [];
let leave = null;
let renderSeq = 0;

async function start() {
  onSignedOut((e) => showSignIn(e.words));
  document.getElementById('signout').addEventListener('click', async () => {
    try {
      await signOut();
    } finally {
      showSignIn('You are signed out.');
    }
  });
  projectSelect.addEventListener('change', () => {
    const { view: v, params } = parseHash();
    const target = VIEWS[v] && !['session', 'device'].includes(v) ? v : 'overview';
    go(target, '', { ...(target === v ? params : {}), project: projectSelect.value, page: undefined });
  });
  window.addEventListener('hashchange', route);
  let who;
  try {
    who = await currentSession();
  } catch (e) {
    mount(view, errorBox(e));
    return;
  }
  if (who) await enter();
  else showSignIn();
}

function stopView() {
  if (leave) leave();
  leave = null;
}

function showSignIn(notice) {
  ++renderSeq; // a render still loading is stale now: it must not start its timers
  stopView();
  projects = [];
  topbar.hidden = true;
  document.title = 'Sign in · Teleoscope';
  view.className = 'view view-signin';
  renderSignIn(view, { notice, onSignedIn: enter });
}

async function enter() {
  topbar.hidden = false;
  const who = whoAmI();
  document.getElementById('who').textContent = who ? `Account ${who.AccountId}` : '';
  await loadProjects();
  await route();
}

/**
 * Reloads the project list of the picker (after a project is created or deleted). A failure leaves the
 * list as it was: the page shown says it (the projects page lists them itself), nothing is painted over it.
 */
async function loadProjects() {
  try {
    projects = await callAll('DescribeProjectList', {}, 'Projects');
  } catch {
    return;
  }
  mount(projectSelect, projects.length
    ? projects.map((p) => h('option', { value: p.ProjectId }, `${p.ProjectName} (${p.ProjectId})`))
    : h('option', { value: '' }, 'no project yet'));
}

async function route() {
  if (!whoAmI()) return;
  const seq = ++renderSeq;
  const isCurrent = () => seq === renderSeq;
  stopView();
  view.className = 'view';
  const root = h('div.page');
  mount(view, root);
  try {
    const { view: name, arg, params } = parseHash();
    const def = VIEWS[name];
    if (!def) {
      location.replace(href('overview', { project: params.project }));
      return;
    }
    const project = params.project;
    if (!project && !def.global && name !== 'session') {
      if (!projects.length) {
        location.replace(href('projects'));
        return;
      }
      location.replace(href(name, arg, { ...params, project: projects[0].ProjectId }));
      return;
    }
    if (project && projects.some((p) => p.ProjectId === project)) projectSelect.value = project;
    mount(document.getElementById('nav'), Object.entries(VIEWS).filter(([, d]) => d.nav).map(([k, d]) =>
      h('a', {
        href: href(k, { project: project || projectSelect.value || undefined }),
        class: k === name || (k === 'sessions' && name === 'session') || (k === 'devices' && name === 'device') ? 'active' : null,
      }, d.title)));
    document.title = `${def.title} · Teleoscope`;
    root.className = `page view-${name}`;
    mount(root, h('p.loading', 'Loading…'));
    const mod = await def.load();
    if (!isCurrent()) return;
    const stop = await mod.render({
      root, arg, params, project, projects, call, reloadProjects: loadProjects, isCurrent,
    });
    if (isCurrent()) leave = typeof stop === 'function' ? stop : null;
    else if (typeof stop === 'function') stop();
  } catch (e) {
    if (isCurrent() && whoAmI()) mount(root, errorBox(e));
  }
}

start();
