import type { StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';
import type { DataStore } from '../../data/data-store.js';
import { agentTool } from './agent-tool.js';

/** Longest report body the agent may write, in characters. */
export const MAX_REPORT_CHARS = 200_000;

/**
 * Report tools: write a Markdown report to the data store for the CURRENT user (the author is
 * the message's user, never a model argument), list that user's reports, read one of them.
 */
export function reportTools(store: DataStore): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'save_report',
      description:
        'Save a Markdown report for the user (kept in the data folder) and return its id. Write the full ' +
        'report: a title, then sections with the figures and listings it is based on.',
      schema: z.object({
        title: z.string().min(1).max(200).describe('One line'),
        markdown: z.string().min(1).max(MAX_REPORT_CHARS).describe('The report body, in Markdown'),
      }),
      userSpecific: true,
      run: async ({ title, markdown }, { run }) => {
        const saved = await store.writeReport({
          title: title.replace(/\s+/g, ' ').trim(),
          author: run.userId,
          body: markdown,
        });
        return { report_id: saved.id, title: saved.title, created_at: saved.createdAt };
      },
    }),
    agentTool({
      name: 'list_reports',
      description: "List the user's saved reports, newest first.",
      schema: z.object({ limit: z.number().int().min(1).max(50).optional() }),
      userSpecific: true,
      run: async ({ limit }, { run }) => {
        const reports = await store.listReports({ author: run.userId, limit: limit ?? 20 });
        return { reports: reports.map((r) => ({ id: r.id, title: r.title, created_at: r.createdAt })) };
      },
    }),
    agentTool({
      name: 'read_report',
      description: "Read one of the user's saved reports by its id.",
      schema: z.object({ id: z.string().min(1).max(120) }),
      userSpecific: true,
      run: async ({ id }, { run }) => {
        const report = await store.getReport(id);
        // Another user's report is as good as missing: ids must not let anyone read others' work.
        if (!report || report.author !== run.userId)
          return { error: `no report with id ${id.slice(0, 120)}` };
        return { id: report.id, title: report.title, created_at: report.createdAt, markdown: report.body };
      },
    }),
  ];
}
