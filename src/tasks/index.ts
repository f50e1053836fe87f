// Tasks the server issues (POST /v1/tasks); other features import from here only.
export { tasksRouter, openTaskRequest } from './routes';
export { openTask, closeTask, findTask, requireOpenTask, taskStatus, toTaskView, type TaskView } from './service';
