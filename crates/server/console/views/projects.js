// The account's projects (DescribeProjectList) with create (CreateProject), modify (ModifyProject),
// delete (DeleteProject: everything the project owns goes with it, docs/api.md §2.12) and the project's
// shared-key mode for device login (ModifyProjectSecMode, docs/api.md §4.1).

import { h, mount, formValues } from '../dom.js';
import { isoTime } from '../format.js';
import { href } from '../routes.js';
import { callAll } from '../api.js';
import { changer, listBox } from '../widgets/list-page.js';
import { empty } from '../widgets/messages.js';

export async function render({ root, call, reloadProjects, isCurrent }) {
  const status = h('div.form-status');
  const listEl = h('div.list');
  const editorBox = h('div');
  const list = listBox(listEl, { load, isCurrent, what: 'The projects cannot be listed' });
  // A change to the projects changes the project picker too.
  const change = changer({ status, reload: async () => { await reloadProjects(); await list(); }, isCurrent });
  const create = h('form.inline', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const v = formValues(form);
      const made = await change({
        run: () => call('CreateProject', { ProjectName: v.ProjectName, ProjectDescription: v.ProjectDescription, PolicyMode: v.PolicyMode }),
        done: (r) => `Project ${v.ProjectName} created with id ${r.ProjectId}.`,
        failed: 'The project was not created',
      });
      if (made) form.reset();
    },
  },
  h('div.field', h('label', { for: 'p-name' }, 'Name'), h('input', { id: 'p-name', name: 'ProjectName', required: true, placeholder: 'mine_north' })),
  h('div.field', h('label', { for: 'p-desc' }, 'Description'), h('input', { id: 'p-desc', name: 'ProjectDescription', placeholder: 'Open-pit mine, north pit' })),
  h('div.field', h('label', { for: 'p-mode' }, 'Policy'), h('select', { id: 'p-mode', name: 'PolicyMode' },
    h('option', { value: 'black' }, 'black list (all pairs allowed but the listed)'), h('option', { value: 'white' }, 'white list (only the listed pairs)'))),
  h('button', { type: 'submit' }, 'Create project'));
  mount(root,
    h('div.page-head', h('div', h('h1', 'Projects'), h('p.muted', 'A project holds devices, their policies and their sessions.'))),
    listEl, editorBox,
    h('section.editor', h('h2', 'New project'), create), status);

  async function load() {
    const projects = await callAll('DescribeProjectList', {}, 'Projects');
    if (!projects.length) return h('div.table-card', empty('No project yet. Create the first one below.'));
    return h('div.table-card', h('table.projects',
      h('thead', h('tr', h('th', 'project'), h('th', 'id'), h('th', 'description'), h('th', 'policy'), h('th', 'modified'), h('th.actions-cell', ''))),
      h('tbody', projects.map((p) => h('tr', { dataset: { projectId: p.ProjectId } },
        h('td', h('a', { href: href('overview', { project: p.ProjectId }) }, p.ProjectName)),
        h('td.mono', p.ProjectId),
        h('td', p.ProjectDescription || h('span.muted', '—')),
        h('td', `${p.PolicyMode} list`),
        h('td.nowrap', isoTime(p.ModifyTime)),
        h('td.actions-cell',
          h('a.button.quiet.small', { href: href('devices', { project: p.ProjectId }) }, 'Devices'),
          ' ',
          h('button.quiet.small', { type: 'button', onclick: () => edit(p) }, 'Edit'),
          h('button.quiet.small', { type: 'button', onclick: () => secMode(p) }, 'Device login'),
          h('button.quiet.small', { type: 'button', onclick: () => remove(p) }, 'Delete')))))));
  }

  function edit(p) {
    mount(editorBox, h('section.editor', h('h2', `Edit ${p.ProjectName}`),
      h('form.inline', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const v = formValues(ev.target);
          const made = await change({
            run: () => call('ModifyProject', { ProjectId: p.ProjectId, ProjectName: v.ProjectName, ProjectDescription: v.ProjectDescription, PolicyMode: v.PolicyMode }),
            done: `Project ${v.ProjectName} saved.`,
            failed: 'The project was not saved',
          });
          if (made) mount(editorBox);
        },
      },
      h('div.field', h('label', 'Name'), h('input', { name: 'ProjectName', value: p.ProjectName, required: true })),
      h('div.field', h('label', 'Description'), h('input', { name: 'ProjectDescription', value: p.ProjectDescription || '' })),
      h('div.field', h('label', 'Policy in force'), h('select', { name: 'PolicyMode' },
        ['black', 'white'].map((m) => h('option', { value: m, selected: p.PolicyMode === m }, `${m} list`)))),
      h('button', { type: 'submit' }, 'Save'),
      h('button.quiet', { type: 'button', onclick: () => mount(editorBox) }, 'Cancel'))));
  }

  function secMode(p) {
    mount(editorBox, h('section.editor', h('h2', `Device login for ${p.ProjectName}`),
      h('p.muted', 'With the shared-key mode on, devices log in with a password derived from the project key instead of their own token; the project can also let unknown devices register themselves. The key is sent once and not shown again.'),
      h('form.stacked', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const v = formValues(ev.target);
          const req = { ProjectId: p.ProjectId, Mode: Number(v.Mode), AutoRegister: Number(v.AutoRegister), FieldListEnable: v.FieldListEnable ? 1 : 0 };
          if (v.Key) req.Key = v.Key;
          ev.target.elements.Key.value = '';
          const made = await change({
            run: () => call('ModifyProjectSecMode', req),
            done: `Device login of ${p.ProjectName} saved: shared key ${req.Mode ? 'on' : 'off'}.`,
            failed: 'Device login was not changed',
          });
          if (made) mount(editorBox);
        },
      },
      h('div.field', h('label', 'Shared project key'), h('select', { name: 'Mode' }, h('option', { value: '0' }, 'off: each device logs in with its own token'), h('option', { value: '1' }, 'on: devices log in with the project key'))),
      h('div.field', h('label', 'Project key (32 lowercase letters or digits; required to turn it on)'), h('input', { name: 'Key', type: 'password', autocomplete: 'off', spellcheck: 'false' })),
      h('div.field', h('label', 'Unknown devices may register themselves'), h('select', { name: 'AutoRegister' },
        [['0', 'no'], ['1', 'field devices'], ['2', 'remote devices'], ['3', 'both']].map(([v, t]) => h('option', { value: v }, t)))),
      h('div.field', h('label', h('input', { type: 'checkbox', name: 'FieldListEnable' }), ' remote devices may list the field devices')),
      h('div', h('button', { type: 'submit' }, 'Save'), ' ', h('button.quiet', { type: 'button', onclick: () => mount(editorBox) }, 'Cancel')))));
  }

  function remove(p) {
    return change({
      confirm: `Delete project ${p.ProjectName} (${p.ProjectId})? Its devices, policies, sessions and samples are deleted too. This cannot be undone.`,
      run: () => call('DeleteProject', { ProjectId: p.ProjectId }),
      done: `Project ${p.ProjectName} deleted.`,
      failed: 'The project was not deleted',
    });
  }

  await list();
  return undefined;
}
