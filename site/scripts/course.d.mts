export declare const EXPLORABLES: string[];
export interface Explorable { component: string; section: string }
export interface NotebookCourse { objective: string; minutes: number; prerequisites: string[]; learn: string[]; takeaways: string[]; demos: string[]; explorables: Explorable[] }
export interface DemoCourse { title: string; objective: string; notebooks: string[] }
export interface Course { notebooks: Record<string, NotebookCourse>; demos: Record<string, DemoCourse> }
export declare function parseCourse(text: string, file: string, notebookSlugs: string[]): Course;
export declare function loadCourse(path: string, notebookSlugs: string[]): Course;
