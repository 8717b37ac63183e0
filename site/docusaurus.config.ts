import type { Config } from '@docusaurus/types';
import type * as Preset from '@docusaurus/preset-classic';
import path from 'node:path';

// LoRA Lab's site: the notebooks (generated from notebooks/*.ipynb by scripts/generate.mjs), the exercises and the
// interview drills. Everything is built offline; broken links fail the build.
const config: Config = {
  title: 'LoRA Lab',
  tagline: 'Understand and practise LoRA and QLoRA by running them',
  url: 'http://localhost',
  baseUrl: '/',
  favicon: 'img/favicon.svg',
  onBrokenLinks: 'throw',
  onBrokenAnchors: 'throw',
  markdown: { hooks: { onBrokenMarkdownLinks: 'throw' } },
  trailingSlash: false,
  i18n: { defaultLocale: 'en', locales: ['en'] },
  presets: [
    [
      'classic',
      {
        docs: { routeBasePath: '/', sidebarPath: './sidebars.ts', numberPrefixParser: false },
        blog: false,
        theme: { customCss: './src/css/custom.css' },
      } satisfies Preset.Options,
    ],
  ],
  stylesheets: [{ href: '/katex/katex.min.css', type: 'text/css' }],
  clientModules: ['./src/clientModules/noViewportPrefetch.js'],
  plugins: [
    // The live demos import LoRA Lab's own TypeScript (lib/src) — the same quantizer and SVD the library runs — as
    // '@loralab/...'. Its imports name '.js' files that are '.ts' on disk.
    () => ({
      name: 'loralab-src',
      configureWebpack: () => ({
        resolve: { alias: { '@loralab': path.resolve(__dirname, '../lib/src') }, extensionAlias: { '.js': ['.ts', '.js'] } },
      }),
    }),
  ],
  themes: [
    [
      '@easyops-cn/docusaurus-search-local',
      { hashed: true, indexDocs: true, indexPages: true, docsRouteBasePath: '/', highlightSearchTermsOnTargetPage: true },
    ],
  ],
  themeConfig: {
    navbar: {
      title: 'LoRA Lab',
      items: [
        { to: '/notebooks/01-why-fine-tune', label: 'Notebooks', position: 'left' },
        { to: '/exercises', label: 'Exercises', position: 'left' },
        { to: '/drills', label: 'Drills', position: 'left' },
        { to: '/demos/nf4-playground', label: 'Demos', position: 'left' },
      ],
    },
    prism: { additionalLanguages: ['bash'] },
    tableOfContents: { minHeadingLevel: 2, maxHeadingLevel: 3 },
  } satisfies Preset.ThemeConfig,
};

export default config;
