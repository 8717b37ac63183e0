import type { SidebarsConfig } from '@docusaurus/plugin-content-docs';
import contents from './src/data/contents.json';

// Navigation follows the brief's eight sections: each has its notebook and its exercises.
const sidebars: SidebarsConfig = {
  main: [
    ...contents.sections.map((s) => ({
      type: 'category' as const,
      label: `${s.n} · ${s.title}`,
      collapsed: false,
      items: [
        ...(s.notebook ? [`notebooks/${s.notebook.slug}`] : []),
        ...s.exercises.map((e) => `exercises/${e.slug}`),
      ],
    })),
    'exercises/index',
    'drills',
    { type: 'category' as const, label: 'Live demos', collapsed: false, items: ['demos/nf4-playground', 'demos/lora-rank-explorer', 'demos/qlora-finetune'] },
  ],
};

export default sidebars;
